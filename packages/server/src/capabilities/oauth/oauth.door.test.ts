import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formPairs } from './oauth.door.js';

/** The token endpoint's form parser must read exactly the pairs the WHATWG parser reads. */
describe('formPairs', () => {
  // The WHATWG form parser; the leading "&" (an empty sequence, skipped) keeps the URLSearchParams
  // constructor from dropping a leading "?", which the form parser does not do.
  const whatwg = (body: string) => [...new URLSearchParams(`&${body}`)];

  it('gives the pairs URLSearchParams gives, for edge cases', () => {
    for (const body of [
      '',
      '&',
      '&&a=1&&',
      'a',
      'a=',
      '=b',
      '=',
      'a=1=2',
      'a+b=c+d',
      'a%2Bb=%2B',
      '%zz=1',
      'a=%',
      'a=%4',
      'a=%C3',
      'a=%C3%A9',
      'a=%E2%82',
      'a=%ED%A0%80',
      'a=%F0%9F%98%80',
      'a=%00',
      'grant_type=a&gr%61nt_type=b',
      'x=caf%C3%A9+%26+cr%C3%A8me',
      'a=é&b=😀',
      '?a=1',
      '?',
    ])
      expect(formPairs(body), body).toEqual(whatwg(body));
  });

  it('gives the pairs URLSearchParams gives, for random bodies', () => {
    const piece = fc.oneof(
      fc.constantFrom(
        'a',
        'b',
        '=',
        '&',
        '+',
        '%',
        '%2',
        '%2B',
        '%26',
        '%3D',
        '%zz',
        '%C3',
        '%A9',
        '%ED%A0%80',
        'é',
        ' ',
      ),
      fc.string({ maxLength: 4 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 24 }), (parts) => {
        const body = parts.join('');
        expect(formPairs(body)).toEqual(whatwg(body));
      }),
      { numRuns: 20_000 },
    );
  });
});
