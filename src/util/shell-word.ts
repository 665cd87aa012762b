/** A word as sh reads it back unchanged: in single quotes, a quote inside written as '\''. */
export const shellQuoted = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;

/** A word for a command the user copies: as it is when sh would read it so, else quoted (a HOME with a space). */
export const shellWord = (word: string): string => (/^[A-Za-z0-9_@%+=:,./~-]+$/.test(word) ? word : shellQuoted(word));
