// Twilio takes at most 1600 characters in a message body. A longer reply goes out as several messages,
// cut where a reader would pause: after a sentence if one ends in the second half of the window, else
// between words, else (one endless word) anywhere but inside a surrogate pair.

export const MAX_BODY = 1600;

export function splitBody(text: string, max = MAX_BODY): string[] {
  const parts: string[] = [];
  let rest = text.trim();
  while (rest.length > max) {
    const cut = cutPoint(rest, max);
    parts.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  parts.push(rest);
  return parts;
}

function cutPoint(text: string, max: number): number {
  const window = text.slice(0, max + 1);
  let sentence = -1;
  for (const m of window.matchAll(/[.!?…]["')\]]*\s|\n/g)) {
    const end = m.index + m[0].length;
    if (end <= max + 1) sentence = end;
  }
  if (sentence > max / 2) return sentence;
  const space = window.lastIndexOf(" ");
  if (space > 0) return space + 1;
  const low = text.charCodeAt(max);
  return low >= 0xdc00 && low <= 0xdfff ? max - 1 : max;
}

const FENCE = "```";

/**
 * A WhatsApp reply's parts: a ``` monospace block cut between two parts is closed at the end of the first and
 * opened again at the start of the next, so that neither the rest of one message nor the next is all monospace.
 */
export function splitWhatsApp(text: string, max = MAX_BODY): string[] {
  // Room for the fence each part may gain at either end.
  const parts = splitBody(text, max - 2 * (FENCE.length + 1));
  let open = false;
  return parts.map((part) => {
    const body = open ? `${FENCE}\n${part}` : part;
    open = (body.split(FENCE).length - 1) % 2 === 1;
    return open ? `${body}\n${FENCE}` : body;
  });
}
