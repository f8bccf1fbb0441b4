// The Dockerfile as a list of stages and their instructions, for image-steps.mjs to follow: only the
// instructions it knows how to carry out without Docker; any other one is an error, so a Dockerfile
// that grows one fails the run instead of being skipped.

const KNOWN = new Set(['FROM', 'WORKDIR', 'COPY', 'RUN', 'ENV', 'USER', 'EXPOSE', 'HEALTHCHECK', 'CMD']);

/** `[{ from, name, instructions: [{ keyword, args, line }] }]`: one entry per FROM. */
export function parseDockerfile(text) {
  const stages = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i];
    if (/^\s*(#|$)/.test(line)) continue;
    // A trailing backslash continues the instruction; comment lines inside it are dropped, as Docker does.
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      line = line.replace(/\\\s*$/, '');
      i++;
      if (!/^\s*#/.test(lines[i])) line += lines[i];
    }
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!match) throw new Error(`Dockerfile line ${start}: cannot read "${line}"`);
    const keyword = match[1].toUpperCase();
    const args = match[2].trim();
    if (!KNOWN.has(keyword)) throw new Error(`Dockerfile line ${start}: ${keyword} is not one image-steps.mjs knows how to follow`);
    if (keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from) throw new Error(`Dockerfile line ${start}: cannot read FROM ${args}`);
      stages.push({ from: from[1], name: from[2], line: start, instructions: [] });
      continue;
    }
    if (stages.length === 0) throw new Error(`Dockerfile line ${start}: ${keyword} before FROM`);
    stages.at(-1).instructions.push({ keyword, args, line: start });
  }
  return stages;
}

/** `--from=build src… dest` → `{ from, sources, dest }` (the shell form only; no --chown, --chmod, --link). */
export function parseCopy(args) {
  const words = args.split(/\s+/);
  let from;
  while (words[0]?.startsWith('--')) {
    const flag = /^--from=(.+)$/.exec(words.shift());
    if (!flag) throw new Error(`COPY ${args}: only --from= is followed`);
    from = flag[1];
  }
  if (words.length < 2) throw new Error(`COPY ${args}: wants a source and a destination`);
  return { from, sources: words.slice(0, -1), dest: words.at(-1) };
}

/** `KEY=value KEY2="two words"` → entries (the `ENV KEY value` form too). */
export function parseEnv(args) {
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(args)) {
    const [key, ...rest] = args.split(/\s+/);
    return [[key, rest.join(' ')]];
  }
  return [...args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("([^"]*)"|\S*)/g)].map(([, key, raw, quoted]) => [key, quoted ?? raw]);
}

/** `HEALTHCHECK --interval=10s … CMD ["node", …]` → `{ options, test }`, test in compose's form (`["CMD", …]`). */
export function parseHealthcheck(args) {
  const options = {};
  let rest = args;
  for (let flag = /^--([a-z-]+)=(\S+)\s+/.exec(rest); flag; flag = /^--([a-z-]+)=(\S+)\s+/.exec(rest)) {
    options[flag[1]] = flag[2];
    rest = rest.slice(flag[0].length);
  }
  if (/^NONE$/i.test(rest)) return { options, test: ['NONE'] };
  const command = /^CMD\s+(.*)$/s.exec(rest);
  if (!command) throw new Error(`HEALTHCHECK ${args}: wants CMD`);
  return { options, test: execForm(command[1]) };
}

/** An instruction's command: the exec form (a JSON array) as it is, the shell form as `CMD-SHELL`. */
export function execForm(text) {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) return ['CMD', ...JSON.parse(trimmed)];
  return ['CMD-SHELL', trimmed];
}
