import { SCHEMAS, validateHttp, validateMessage } from '@niyanta/messages';
import type { WorkloadSubmissionV1 } from '@niyanta/messages';
import { toSubmission } from '../src/submissions.js';

describe('submission envelopes', () => {
  // The API publishes a validated HTTP body without a second ajv run (`validated: true`): that is
  // sound only while the HTTP schema has exactly the submission's fields but id and schemaVersion.
  it('has the HTTP submission schema equal to the broker submission schema but id and schemaVersion', () => {
    const http = SCHEMAS['http/workload-submission.v1.json'];
    const broker = SCHEMAS['messages/submission.v1.json'];
    const { id, schemaVersion, ...brokerFields } = broker.properties;
    expect(id).toBeDefined();
    expect(schemaVersion).toBeDefined();
    expect(http.properties).toEqual(brokerFields);
    expect(http.additionalProperties).toBe(broker.additionalProperties);
    expect([...http.required].sort()).toEqual(
      broker.required.filter((f) => f !== 'id' && f !== 'schemaVersion').sort(),
    );
  });

  it('makes a valid submission of every valid body', () => {
    const bodies: WorkloadSubmissionV1[] = [
      { type: 'noop', input: {} },
      {
        type: 'resize.images:v2',
        input: [1, 'two', null],
        priority: 0,
        maxAttempts: 100,
        idempotencyKey: 'k-1',
        timeoutSeconds: 60,
        requirements: { cpu: 2, memoryMb: 512, gpu: 1 },
        labels: { team: 'media' },
        runAt: '2030-01-01T00:00:00Z',
      },
    ];
    for (const body of bodies) {
      expect(validateHttp('workloadSubmission', body)).toEqual([]);
      expect(
        validateMessage('submission', toSubmission(body, '01a2350d-f15a-72e0-b802-d16b2e16c2eb')),
      ).toEqual([]);
    }
  });
});
