import { dependencyResults } from '../src/dependencies.js';

describe('ctx.dependencies', () => {
  it('holds each result by id and, for a dependency named by a ref, by that ref too', () => {
    const deps = dependencyResults({
      dependencies: { 'id-a': { x: 1 }, 'id-b': null },
      dependencyRefs: { a: 'id-a', b: 'id-b' },
    });
    expect(deps).toEqual({ 'id-a': { x: 1 }, a: { x: 1 }, 'id-b': null, b: null });
    expect(Object.isFrozen(deps)).toBe(true);
  });

  it('is empty without dependencies, and leaves out results the assignment omitted', () => {
    expect(dependencyResults({})).toEqual({});
    expect(
      dependencyResults({
        dependencies: { 'id-a': 1 },
        dependencyRefs: { big: 'id-big' },
        dependenciesOmitted: ['id-big'],
      }),
    ).toEqual({ 'id-a': 1 });
  });
});
