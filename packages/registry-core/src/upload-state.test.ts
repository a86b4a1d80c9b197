import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { packUploadState, unpackUploadState } from './upload-state.ts';

const state = {
  name: 'library/alpine',
  uuid: '5b1f4c2e-6a1d-4a8e-9a43-1f0c2b7d9e10',
  offset: 1048576,
  startedAt: new Date('2026-01-02T03:04:05.678Z'),
};

describe('upload state tokens', () => {
  it('round-trips', () => {
    const token = packUploadState('s3cret', state);
    expect(unpackUploadState('s3cret', token)).toEqual(state);
  });

  it('uses registry:2 field names and padded base64url of mac || json', () => {
    const token = packUploadState('s3cret', state);
    expect(token.length % 4).toBe(0);
    const bytes = Buffer.from(token, 'base64url');
    const json = bytes.subarray(32).toString();
    expect(JSON.parse(json)).toEqual({
      Name: state.name,
      UUID: state.uuid,
      Offset: state.offset,
      StartedAt: '2026-01-02T03:04:05.678Z',
    });
    expect(bytes.subarray(0, 32)).toEqual(createHmac('sha256', 's3cret').update(json).digest());
  });

  it('accepts a token as registry:2 writes it (Go time with nanoseconds and offset)', () => {
    const json = Buffer.from(
      '{"Name":"a/b","UUID":"u","Offset":0,"StartedAt":"2026-01-02T03:04:05.123456789Z"}',
    );
    const mac = createHmac('sha256', 'k').update(json).digest();
    const token = Buffer.concat([mac, json]).toString('base64');
    const urlSafe = token.replaceAll('+', '-').replaceAll('/', '_');
    expect(unpackUploadState('k', urlSafe)).toMatchObject({ name: 'a/b', uuid: 'u', offset: 0 });
  });

  it.each([
    ['wrong secret', () => packUploadState('other', state)],
    ['truncated', () => packUploadState('s3cret', state).slice(0, 20)],
    [
      'tampered',
      () => {
        const bytes = Buffer.from(packUploadState('s3cret', state), 'base64url');
        bytes.writeUInt8(bytes.readUInt8(bytes.length - 3) ^ 1, bytes.length - 3);
        return bytes.toString('base64url');
      },
    ],
    ['not base64', () => 'a b c'],
    ['empty', () => ''],
  ])('rejects a token that is %s with BLOB_UPLOAD_INVALID', (_, make) => {
    expect(() => unpackUploadState('s3cret', make())).toThrow(
      expect.objectContaining({ code: 'BLOB_UPLOAD_INVALID', status: 404 }),
    );
  });

  it('rejects a signed token with a bad field', () => {
    const json = Buffer.from('{"Name":"a","UUID":"u","Offset":-1,"StartedAt":"2026-01-02T03:04:05Z"}');
    const mac = createHmac('sha256', 'k').update(json).digest();
    expect(() => unpackUploadState('k', Buffer.concat([mac, json]).toString('base64url'))).toThrow(
      expect.objectContaining({ code: 'BLOB_UPLOAD_INVALID' }),
    );
  });
});
