import { describe, expect, it } from 'vitest';
import { parseAccept } from './accept.ts';

describe('parseAccept', () => {
  it('returns an empty set for a missing or empty header', () => {
    expect(parseAccept(undefined)).toEqual(new Set());
    expect(parseAccept('')).toEqual(new Set());
    expect(parseAccept([])).toEqual(new Set());
    expect(parseAccept(' , ,')).toEqual(new Set());
  });

  it('splits on commas, trims and drops parameters', () => {
    expect(
      parseAccept(
        'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json;q=0.9 ,application/json ; q=0.5; charset=utf-8',
      ),
    ).toEqual(
      new Set([
        'application/vnd.oci.image.index.v1+json',
        'application/vnd.docker.distribution.manifest.v2+json',
        'application/json',
      ]),
    );
  });

  it('merges repeated headers (docker sends one Accept per type)', () => {
    expect(
      parseAccept([
        'application/vnd.docker.distribution.manifest.v2+json',
        'application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.index.v1+json',
      ]),
    ).toEqual(
      new Set([
        'application/vnd.docker.distribution.manifest.v2+json',
        'application/vnd.docker.distribution.manifest.list.v2+json',
        'application/vnd.oci.image.index.v1+json',
      ]),
    );
  });

  it('lower-cases media types', () => {
    expect(parseAccept('Application/VND.OCI.Image.Index.v1+JSON')).toEqual(
      new Set(['application/vnd.oci.image.index.v1+json']),
    );
  });

  it('leaves out types refused with q=0', () => {
    expect(parseAccept('application/json;q=0, text/plain; Q=0.000, application/xml;q=0.001')).toEqual(
      new Set(['application/xml']),
    );
  });

  it('keeps wildcards as given', () => {
    expect(parseAccept('*/*')).toEqual(new Set(['*/*']));
  });
});
