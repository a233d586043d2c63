import { randomBytes } from 'node:crypto';
import { s3Request, startS3Server } from '@niyanta/testing';

describe('startS3Server', () => {
  it('stores and returns an object in its bucket byte for byte', async () => {
    await using s3 = await startS3Server();
    expect(s3).toMatchObject({ bucket: 'niyanta-test', region: 'us-east-1' });
    const body = randomBytes(64 * 1024);
    const put = await s3Request(s3, 'PUT', `/${s3.bucket}/dir/object.bin`, body);
    expect(put.status).toBe(200);
    const get = await s3Request(s3, 'GET', `/${s3.bucket}/dir/object.bin`);
    expect(get.status).toBe(200);
    expect(Buffer.from(await get.arrayBuffer()).equals(body)).toBe(true);
  });

  it('lists the bucket and answers 404 for a missing key', async () => {
    await using s3 = await startS3Server();
    const list = await s3Request(s3, 'GET', `/${s3.bucket}`);
    expect(list.status).toBe(200);
    expect(await list.text()).toContain('<Name>niyanta-test</Name>');
    const missing = await s3Request(s3, 'GET', `/${s3.bucket}/nope`);
    await missing.body?.cancel();
    expect(missing.status).toBe(404);
  });

  it('rejects a request signed with an unknown access key', async () => {
    await using s3 = await startS3Server();
    // s3rver checks the key id of a V4 signature but not the signature itself.
    const forged = await s3Request({ ...s3, accessKeyId: 'NOBODY' }, 'GET', `/${s3.bucket}`);
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain('InvalidAccessKeyId');
  });

  it('stops listening when disposed', async () => {
    let endpoint: string;
    {
      await using s3 = await startS3Server();
      endpoint = s3.endpoint;
    }
    await expect(fetch(endpoint)).rejects.toThrow();
  });
});
