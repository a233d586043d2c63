import { createLogger, setLogLevel } from '../src/index.js';

describe('setLogLevel', () => {
  it('changes the level of a logger and of every child made from it', () => {
    const root = createLogger('test', 'info');
    const child = root.child({ component: 'a' });
    const grandchild = child.child({ workloadId: 'w' });
    expect(grandchild.isLevelEnabled('debug')).toBe(false);
    setLogLevel(root, 'debug');
    for (const log of [root, child, grandchild]) expect(log.isLevelEnabled('debug')).toBe(true);
    setLogLevel(root, 'warn');
    expect(grandchild.isLevelEnabled('info')).toBe(false);
  });

  it('refuses a level pino does not know, naming LOG_LEVEL', () => {
    expect(() => setLogLevel(createLogger('test'), 'loud')).toThrow(
      /LOG_LEVEL is not a level: "loud"/,
    );
  });
});
