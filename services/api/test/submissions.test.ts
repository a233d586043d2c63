import { SCHEMAS, validateHttp, validateMessage } from '@niyanta/messages';
import type { WorkloadSubmissionV1 } from '@niyanta/messages';
import { toSubmission } from '../src/submissions.js';

describe('submission envelopes', () => {
  // The API publishes a validated HTTP body without a second ajv run (`validated: true`): that is
  // sound only while the HTTP schema has exactly the submission's fields but id, schemaVersion
  // and submittedBy (set by the API from the key, valid by construction: see below).
  it('has the HTTP submission schema equal to the broker submission schema but id, schemaVersion, submittedBy and dependencyRefs', () => {
    const http = SCHEMAS['http/workload-submission.v1.json'];
    const broker = SCHEMAS['messages/submission.v1.json'];
    const { id, schemaVersion, submittedBy, dependencyRefs, ...brokerFields } = broker.properties;
    expect(submittedBy).toBeDefined();
    expect(dependencyRefs).toBeDefined();
    expect(id).toBeDefined();
    expect(schemaVersion).toBeDefined();
    expect(http.properties).toEqual(brokerFields);
    expect(http.additionalProperties).toBe(broker.additionalProperties);
    expect([...http.required].sort()).toEqual(
      broker.required.filter((f) => f !== 'id' && f !== 'schemaVersion').sort(),
    );
  });

  it('makes a valid submission with every kind of submitter the API records', () => {
    for (const by of ['root', 'anonymous', '0190a1b2c3d47e5f8a9b0c1d2e3f4a5b']) {
      const s = toSubmission(
        { type: 'noop', input: {} },
        '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
        by,
      );
      expect(validateMessage('submission', s)).toEqual([]);
      expect(s.submittedBy).toBe(by);
    }
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
