import { createHmac, timingSafeEqual } from 'node:crypto';
import { RegistryError } from './errors.ts';

/**
 * What the `_state` query parameter of an upload `Location` carries. Field names and encoding
 * match registry:2's (`base64url(HMAC-SHA256(secret, json) || json)` with padding), so replicas
 * of either registry sharing `http.secret` accept each other's upload URLs.
 */
export interface UploadState {
  /** Repository name. */
  readonly name: string;
  /** Upload id. */
  readonly uuid: string;
  /** Bytes received so far. */
  readonly offset: number;
  /** When the upload started. */
  readonly startedAt: Date;
}

interface WireState {
  Name: string;
  UUID: string;
  Offset: number;
  StartedAt: string;
}

const MAC_LENGTH = 32;

/** Signs `state` with `secret` into the `_state` token. */
export function packUploadState(secret: string | Uint8Array, state: UploadState): string {
  const wire: WireState = {
    Name: state.name,
    UUID: state.uuid,
    Offset: state.offset,
    StartedAt: state.startedAt.toISOString(),
  };
  const message = Buffer.from(JSON.stringify(wire), 'utf8');
  const mac = createHmac('sha256', secret).update(message).digest();
  return Buffer.concat([mac, message]).toString('base64url') + padding(mac.length + message.length);
}

function padding(byteLength: number): string {
  const remainder = byteLength % 3;
  return remainder === 0 ? '' : '='.repeat(3 - remainder);
}

/**
 * Verifies and decodes a `_state` token.
 * @throws {RegistryError} `BLOB_UPLOAD_INVALID` when the token is malformed or its HMAC does
 * not verify with `secret`.
 */
export function unpackUploadState(secret: string | Uint8Array, token: string): UploadState {
  const invalid = (why: string): RegistryError =>
    new RegistryError('BLOB_UPLOAD_INVALID', `invalid upload state: ${why}`);
  if (!/^[A-Za-z0-9_=-]+$/.test(token)) throw invalid('malformed token');
  const bytes = Buffer.from(token.replace(/=+$/, ''), 'base64url');
  if (bytes.length <= MAC_LENGTH) throw invalid('token too short');
  const mac = bytes.subarray(0, MAC_LENGTH);
  const message = bytes.subarray(MAC_LENGTH);
  const expected = createHmac('sha256', secret).update(message).digest();
  if (!timingSafeEqual(mac, expected)) throw invalid('signature mismatch');
  let wire: Partial<WireState>;
  try {
    wire = JSON.parse(message.toString('utf8')) as Partial<WireState>;
  } catch {
    throw invalid('undecodable token');
  }
  const startedAt = new Date(wire.StartedAt ?? Number.NaN);
  if (
    typeof wire.Name !== 'string' ||
    typeof wire.UUID !== 'string' ||
    typeof wire.Offset !== 'number' ||
    !Number.isSafeInteger(wire.Offset) ||
    wire.Offset < 0 ||
    Number.isNaN(startedAt.getTime())
  ) {
    throw invalid('incomplete token');
  }
  return { name: wire.Name, uuid: wire.UUID, offset: wire.Offset, startedAt };
}
