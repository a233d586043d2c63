import { LineBuffer } from '../src/line-buffer.js';

describe('LineBuffer', () => {
  it('splits chunks into lines and keeps only the last ones', () => {
    const buffer = new LineBuffer(3);
    buffer.push('one\ntw');
    buffer.push('o\nthree\nfour\nfi');
    expect(buffer.lines()).toEqual(['two', 'three', 'four', 'fi']);
    buffer.flush();
    expect(buffer.lines()).toEqual(['three', 'four', 'fi']);
  });

  it('tells subscribers of each completed line until they unsubscribe', () => {
    const buffer = new LineBuffer();
    const seen: string[] = [];
    const unsubscribe = buffer.subscribe((line) => seen.push(line));
    buffer.push('a\nb');
    unsubscribe();
    buffer.push('\nc\n');
    expect(seen).toEqual(['a']);
  });
});
