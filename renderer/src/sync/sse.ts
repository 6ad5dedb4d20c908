/**
 * Server-Sent Events parsing (WHATWG HTML, "9.2.6 Interpreting an event stream"), for streams read
 * with fetch: EventSource cannot send an Authorization header. Bytes arrive in arbitrary chunks, so
 * the parser keeps partial lines across calls; the decoder keeps partial UTF-8 sequences (Persian
 * text split between chunks).
 */
export interface SseEvent {
  event: string;
  data: string;
  id: string | null;
}

export class SseParser {
  private readonly decoder = new TextDecoder('utf-8');
  private buffer = '';
  private dataLines: string[] = [];
  private eventType = '';
  private lastId: string | null = null;
  private sawCarriageReturn = false;

  /** Feeds one chunk; returns the events it completed. */
  push(chunk: Uint8Array | string): SseEvent[] {
    let text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    // A CRLF split across chunks: the LF that follows a CR we already took as a line end is dropped.
    if (this.sawCarriageReturn && text.startsWith('\n')) text = text.slice(1);
    this.sawCarriageReturn = false;
    this.buffer += text;
    const events: SseEvent[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) break;
      // A lone CR at the very end may be the first half of a CRLF: handle it, remember it.
      if (match[0] === '\r' && match.index === this.buffer.length - 1) this.sawCarriageReturn = true;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const event = this.line(line);
      if (event) events.push(event);
    }
    return events;
  }

  private line(line: string): SseEvent | null {
    if (line === '') {
      if (this.dataLines.length === 0) {
        this.eventType = '';
        return null;
      }
      const event: SseEvent = {
        event: this.eventType || 'message',
        data: this.dataLines.join('\n'),
        id: this.lastId,
      };
      this.dataLines = [];
      this.eventType = '';
      return event;
    }
    if (line.startsWith(':')) return null; // comment / keep-alive
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.dataLines.push(value);
    else if (field === 'event') this.eventType = value;
    else if (field === 'id' && !value.includes('\0')) this.lastId = value;
    return null;
  }
}
