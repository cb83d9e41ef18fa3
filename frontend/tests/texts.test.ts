// The room's words: the tab title and the sentences for error codes.
import { describe, expect, it } from 'vitest';
import { errorText, roomTitle } from '../src/room/texts';

describe('roomTitle', () => {
	it('names the problem, the person and the seat', () => {
		expect(roomTitle('Zeros to the Back', 'Zoë', 'candidate')).toBe('Zeros to the Back · Zoë (candidate) · Tandem');
	});
	it('without a problem or a name', () => {
		expect(roomTitle(undefined, '', 'observer')).toBe('Interview · observer · Tandem');
	});
});

describe('errorText', () => {
	it('a rate limit says how long to wait when the server says', () => {
		expect(errorText('rate_limited', undefined, 4200)).toBe(
			'Too many requests (runs are limited per minute); try again in 5 s.',
		);
		expect(errorText('rate_limited')).toMatch(/wait a moment\.$/);
	});
	it('an unknown code keeps the server message', () => {
		expect(errorText('weird', 'it broke')).toBe('weird: it broke');
	});
});
