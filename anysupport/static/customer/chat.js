/* Who wrote a chat line, once a call has more than two participants (issue 21): the rule of
 * anysupport/protocol/chat_writers.py, checked against the same tests/data/chat_writers.json.
 * Every participant a `participants` list named is remembered (an index is never reused), so a line
 * names its writer even after the writer left; while no list had more than two, writer() answers null
 * and a two-party call (a hand-over too) keeps its look. What to show for a writer is app.js's. */

export const CUSTOMER_INDEX = 0;
export const AGENT_INDEX = 1;

export class ChatWriters {
  constructor() {
    this.known = new Map();  // index → the participant as last listed
    this.you = null;
    this.agentIndex = AGENT_INDEX;  // the session's agent (a hand-over in version 2 moves it)
    this.named = false;  // some list had more than two: lines name their writer from then on
  }

  learn(participants, you) {
    const listed = (Array.isArray(participants) ? participants : [])
      .filter((p) => p && typeof p === "object" && Number.isInteger(p.index));
    for (const p of listed) {
      this.known.set(p.index, Object.assign({}, p));
      if (p.role === "agent") this.agentIndex = p.index;
    }
    // (a hand-over lists a new agent instead of the old one: still a call of two)
    this.named = this.named || listed.length > 2;
    if (Number.isInteger(you)) this.you = you;
  }

  indexOf(line) {
    if (Number.isInteger(line.from_index)) return line.from_index;
    if (line.from === "customer") return CUSTOMER_INDEX;
    if (line.from === "agent") return this.agentIndex;
    return null;
  }

  writer(line) {
    if (!this.named) return null;
    const index = this.indexOf(line);
    if (index === null) return null;
    if (this.known.has(index)) return this.known.get(index);
    const role = index === CUSTOMER_INDEX ? "customer" : index === this.agentIndex ? "agent" : "guest";
    return {index: index, role: role, name: ""};
  }

  isMine(line) { return this.you !== null && this.indexOf(line) === this.you; }
}
