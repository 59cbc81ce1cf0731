// Prose for the wire bench's generated transcripts (bench-wire.mts for the file era, bench-sqlite-db.mjs for the
// SQLite era, run by Node 24): words from a vocabulary of 8,192 made-up words drawn with a Zipf-like skew, so
// that gzip -1 compresses the text about 2.5× as it does English prose. (A vocabulary of a few words compresses
// about 40×: the day's gzip limit then shrinks to almost nothing and the fixed bytes of a run dominate any ratio.)
const SYLLABLES =
  "ka lo mi ne su ta ri po de fa gu hi jo ve zu ba ce di el fo ga hu in ja ke li mo nu or pe qu ra se ti ul".split(
    " ",
  );

/** A text of `n` words; `random` is a seeded generator returning [0, 1). */
export function proseMaker(random) {
  const vocabulary = [];
  for (let i = 0; i < 8192; i++) {
    let word = "";
    const length = 1 + Math.floor(random() * 4);
    for (let s = 0; s < length; s++) word += SYLLABLES[Math.floor(random() * SYLLABLES.length)];
    vocabulary.push(word);
  }
  return (n) => {
    let out = "";
    for (let i = 0; i < n; i++)
      out += (i ? " " : "") + vocabulary[Math.floor(vocabulary.length * random() ** 2)];
    return out;
  };
}
