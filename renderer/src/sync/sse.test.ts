import { describe, expect, it } from 'vitest';
import { SseParser } from './sse.ts';

const enc = (s: string) => new TextEncoder().encode(s);

describe('SseParser', () => {
  it('parses events, joins multi-line data and skips comments', () => {
    const p = new SseParser();
    const events = p.push(': keep-alive\n\nevent: msg\ndata: {"a":1}\ndata: x\nid: 7\n\ndata: second\n\n');
    expect(events).toEqual([
      { event: 'msg', data: '{"a":1}\nx', id: '7' },
      { event: 'message', data: 'second', id: '7' },
    ]);
  });

  it('completes an event split mid-line and mid-UTF-8 character across chunks', () => {
    const p = new SseParser();
    const bytes = enc('data: {"subject":"کارتخوان"}\r\n\r\n');
    const out = [];
    // one byte at a time: every split point, including inside the two-byte Persian letters and the CRLF
    for (const b of bytes) out.push(...p.push(new Uint8Array([b])));
    expect(out).toEqual([{ event: 'message', data: '{"subject":"کارتخوان"}', id: null }]);
  });

  it('does not emit an event until its blank line arrives', () => {
    const p = new SseParser();
    expect(p.push('data: one\n')).toEqual([]);
    expect(p.push('\n')).toEqual([{ event: 'message', data: 'one', id: null }]);
  });
});
