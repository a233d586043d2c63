import { createHash, createHmac } from 'node:crypto';

export interface S3Credentials {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer =>
  createHmac('sha256', key).update(data).digest();

/**
 * The headers of an AWS Signature V4 signed S3 request without a query string: `headers`
 * (lower-case names) plus host, x-amz-date, x-amz-content-sha256 and authorization.
 */
export function signS3Request(
  creds: Omit<S3Credentials, 'endpoint'>,
  request: {
    method: string;
    url: URL;
    headers?: Record<string, string>;
    body?: Buffer;
    now?: Date;
  },
): Record<string, string> {
  const amzDate = (request.now ?? new Date())
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const payloadHash = sha256(request.body ?? '');
  const headers: Record<string, string> = {
    ...request.headers,
    host: request.url.host,
    'x-amz-content-sha256': payloadHash,
    'x-amz-date': amzDate,
  };
  const names = Object.keys(headers).sort();
  const signedHeaders = names.join(';');
  const canonicalHeaders = names
    .map((name) => `${name}:${(headers[name] ?? '').trim()}\n`)
    .join('');
  const canonicalRequest = [
    request.method,
    request.url.pathname,
    '',
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join('\n');
  const scope = `${day}/${creds.region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const signingKey = [day, creds.region, 's3', 'aws4_request'].reduce<string | Buffer>(
    (key, part) => hmac(key, part),
    `AWS4${creds.secretAccessKey}`,
  );
  const signature = createHmac('sha256', signingKey).update(stringToSign).digest('hex');
  return {
    ...headers,
    authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope},SignedHeaders=${signedHeaders},Signature=${signature}`,
  };
}

/**
 * Sends one signed, path-style S3 request (`path` like `/bucket/key`, already URI-encoded, no
 * query): enough to create a bucket and to put and get objects without the AWS SDK.
 */
export async function s3Request(
  creds: S3Credentials,
  method: 'GET' | 'PUT' | 'HEAD' | 'DELETE',
  path: string,
  body?: Buffer,
): Promise<Response> {
  const url = new URL(path, creds.endpoint);
  // fetch sets Host itself, from the same URL.
  const { host: _host, ...headers } = signS3Request(creds, { method, url, body });
  return fetch(url, { method, body, headers });
}
