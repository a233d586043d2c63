import S3rver from 's3rver';
import { hasContainerRuntime } from './container-runtime.js';
import { makeTempDir, removeDir } from './fs-utils.js';
import type { S3Credentials } from './s3-request.js';

export interface S3Handle extends S3Credentials, AsyncDisposable {
  /** http://host:port; address buckets path-style (`forcePathStyle: true`). */
  readonly endpoint: string;
  /** An existing, empty bucket. */
  readonly bucket: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  stop(): Promise<void>;
}

export const S3_TEST_BUCKET = 'niyanta-test';
export const S3_REGION = 'us-east-1';

/** Starts an S3-compatible server with bucket `niyanta-test`: MinIO where a container runtime exists, else s3rver in-process. */
export async function startS3Server(): Promise<S3Handle> {
  if (await hasContainerRuntime()) {
    const { startMinioContainer } = await import('./containers.js');
    return startMinioContainer(S3_TEST_BUCKET, S3_REGION);
  }
  const directory = await makeTempDir('s3');
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory,
    silent: true,
    configureBuckets: [{ name: S3_TEST_BUCKET }],
  });
  let address;
  try {
    address = await server.run();
  } catch (err) {
    await removeDir(directory);
    throw err;
  }
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= server.close().finally(() => removeDir(directory));
    return stopped;
  };
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket: S3_TEST_BUCKET,
    region: S3_REGION,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
