import { describe, expect, it } from 'vitest';
import { newWriteId, ObjectKeys, parsePendingName } from './keys.ts';

describe('ObjectKeys', () => {
  it("maps paths to registry:2's object names, below the root prefix", () => {
    const bare = new ObjectKeys('');
    expect(bare.object('/docker/registry/v2/x')).toBe('docker/registry/v2/x');
    expect(bare.dir('/')).toBe('');
    expect(bare.dir('/a')).toBe('a/');
    expect(bare.pathOf('a/b/')).toBe('/a/b');
    const rooted = new ObjectKeys('registry/root');
    expect(rooted.object('/a/b')).toBe('registry/root/a/b');
    expect(rooted.dir('/')).toBe('registry/root/');
    expect(rooted.pathOf('registry/root/a/b')).toBe('/a/b');
  });

  it('keeps pending writes in a hidden tree that siblings do not share', () => {
    const keys = new ObjectKeys('r');
    const id = newWriteId(0, '000000000000');
    expect(keys.part('/x/a', id, 3)).toBe(`r/~berth-pending/x/a/~${id}/00000003`);
    expect(keys.pendingTree('/x/a')).toBe('r/~berth-pending/x/a/');
    expect(keys.pendingOf('/x/a')).toBe('r/~berth-pending/x/a/~');
    expect(keys.part('/x/ab', id, 0).startsWith(keys.pendingTree('/x/a'))).toBe(false);
    expect(keys.part('/x/a/b', id, 0).startsWith(keys.pendingTree('/x/a'))).toBe(true);
    expect(keys.part('/x/a/b', id, 0).startsWith(keys.pendingOf('/x/a'))).toBe(false);
  });

  it('parses part names and ignores foreign ones', () => {
    const id = newWriteId(1_700_000_000_000, 'abcdef012345');
    expect(parsePendingName(`${id}/00000012`)).toEqual({ kind: 'part', writeId: id, seq: 12 });
    expect(parsePendingName(`${id}/c1-0`)).toEqual({ kind: 'other', writeId: id });
    expect(parsePendingName('nonsense/00000000')).toBeUndefined();
    expect(parsePendingName(id)).toBeUndefined();
  });

  it('makes write ids that sort by creation time', () => {
    const earlier = newWriteId(1_700_000_000_000, 'ffffffffffff');
    const later = newWriteId(1_700_000_000_001, '000000000000');
    expect(earlier < later).toBe(true);
    expect(earlier).toHaveLength(later.length);
  });
});
