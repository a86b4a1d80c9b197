/**
 * Which repositories are mirrored from which upstream: repository-name prefixes (`dockerhub/`)
 * or every repository (a registry:2 style mirror), and the hosts containerd may name with
 * `?ns=`.
 */

/** How one upstream is mounted into the registry's namespace. */
export interface MirrorMount {
  /**
   * Repositories under `<prefix>/` are mirrored (`dockerhub` → `dockerhub/alpine`); `''`
   * mirrors every repository, as registry:2's `proxy.remoteurl` does.
   */
  readonly prefix: string;
  /**
   * Docker Hub's convention: a one-component name upstream gets `library/` in front
   * (`dockerhub/alpine` → `library/alpine`). @default false
   */
  readonly library?: boolean;
  /**
   * The registry hosts containerd names with `?ns=` (`docker.io`) that map to this upstream.
   * A request naming any other host ignores the parameter: a client never picks what Berth dials.
   */
  readonly namespaces?: readonly string[];
}

/** A repository name matched to its mount. */
export interface MountMatch<M extends MirrorMount> {
  readonly mount: M;
  /** The repository's name at the upstream. */
  readonly remoteName: string;
}

/**
 * The mounts, checked at creation: prefixes must be valid name components, must not nest
 * (`a` and `a/b`), and `''` (everything) excludes any other mount.
 * @throws {RangeError} naming the offending mount
 */
export class MountTable<M extends MirrorMount> {
  readonly mounts: readonly M[];
  readonly #byNamespace = new Map<string, M>();

  constructor(mounts: readonly M[]) {
    const prefixes = mounts.map((m) => m.prefix.replace(/^\/+|\/+$/g, ''));
    prefixes.forEach((prefix, i) => {
      if (
        prefix !== '' &&
        !/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(prefix)
      ) {
        throw new RangeError(`mirror ${i}: prefix ${JSON.stringify(prefix)} is not a repository name prefix`);
      }
      if (prefix === '' && mounts.length > 1) {
        throw new RangeError(
          `mirror ${i}: a mirror of every repository (no prefix) cannot be combined with others`,
        );
      }
      prefixes.forEach((other, j) => {
        if (j !== i && (other === prefix || other.startsWith(`${prefix}/`))) {
          throw new RangeError(
            `mirror ${j}: prefix ${JSON.stringify(other)} overlaps mirror ${i}'s ${JSON.stringify(prefix)}`,
          );
        }
      });
    });
    this.mounts = mounts.map((m, i) => ({ ...m, prefix: prefixes[i]! }));
    for (const mount of this.mounts) {
      for (const host of mount.namespaces ?? []) {
        const key = host.toLowerCase();
        if (this.#byNamespace.has(key)) throw new RangeError(`namespace ${host} is mapped to two mirrors`);
        this.#byNamespace.set(key, mount);
      }
    }
  }

  /** The mount `name` falls under, or `undefined` for a local repository. */
  match(name: string): MountMatch<M> | undefined {
    for (const mount of this.mounts) {
      let rest: string;
      if (mount.prefix === '') rest = name;
      else if (name.startsWith(`${mount.prefix}/`)) rest = name.slice(mount.prefix.length + 1);
      else continue;
      const remoteName = mount.library === true && !rest.includes('/') ? `library/${rest}` : rest;
      return { mount, remoteName };
    }
    return undefined;
  }

  /**
   * The local name of `name` in namespace `ns` (`?ns=docker.io`), or `undefined` when no mount
   * serves that host.
   */
  withNamespace(name: string, ns: string): string | undefined {
    const mount = this.#byNamespace.get(ns.toLowerCase());
    if (mount === undefined) return undefined;
    return mount.prefix === '' ? name : `${mount.prefix}/${name}`;
  }
}
