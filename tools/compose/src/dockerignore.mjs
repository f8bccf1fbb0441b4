// .dockerignore as Docker reads it (moby's patternmatcher, which BuildKit uses): one pattern a line,
// `#` lines and blank lines skipped, `!` re-includes, patterns are anchored at the context's root
// (`node_modules` is the root one only; `**/node_modules` is any), `*` and `?` stay within one path
// segment, `**` spans any number of them, and a pattern that matches a folder excludes what is in it.
// The last pattern that matches a path decides.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The patterns of a .dockerignore text, each with the regular expression moby compiles it to. */
export function parseDockerignore(text) {
  const patterns = [];
  for (const raw of text.split('\n')) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const exclusion = line.startsWith('!');
    if (exclusion) line = line.slice(1).trim();
    // filepath.Clean, then a leading "/" dropped: "/dist/" and "dist" are the same pattern.
    line = path.posix.normalize(line).replace(/^\/+/, '').replace(/\/+$/, '');
    if (line === '' || line === '.') continue;
    patterns.push({ text: (exclusion ? '!' : '') + line, exclusion, regexp: compile(line) });
  }
  return patterns;
}

function compile(pattern) {
  let source = '^';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === '*' && pattern[i + 1] === '*') {
      i++;
      if (pattern[i + 1] === '/') i++;
      // `**` at the end takes everything; `**/` (or `**` inside) any number of folders, even none.
      source += i + 1 >= pattern.length ? '.*' : '(.*/)?';
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else if (char === '\\' && i + 1 < pattern.length) source += escape(pattern[++i]);
    else if (char === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end === -1) throw new Error(`.dockerignore: unclosed [ in ${pattern}`);
      source += pattern.slice(i, end + 1);
      i = end;
    } else source += escape(char);
  }
  return new RegExp(`${source}$`);
}

const escape = (char) => char.replace(/[.+^${}()|[\]\\/]/g, '\\$&');

/** Whether the context path `file` (relative, `/`-separated) stays out of the build context. */
export function isIgnored(file, patterns) {
  const parents = file.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const pattern of patterns) {
    // As moby: an exclusion can only take back an ignored path, and an ignored one stays so until one does.
    if (pattern.exclusion !== ignored) continue;
    if (parents.some((prefix) => pattern.regexp.test(prefix))) ignored = !pattern.exclusion;
  }
  return ignored;
}

/**
 * The files of the build context: git's tracked and untracked-but-not-ignored files of `root` (so
 * local junk that git ignores is not needed to be absent), less what .dockerignore keeps out.
 */
export function contextFiles(root) {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, maxBuffer: 64 * 1024 * 1024 })
    .toString()
    .split('\0')
    .filter(Boolean);
  const dockerignore = path.join(root, '.dockerignore');
  const patterns = existsSync(dockerignore) ? parseDockerignore(readFileSync(dockerignore, 'utf8')) : [];
  // A tracked file deleted in the working tree is not in the context.
  const files = [...new Set(listed)].filter((file) => existsSync(path.join(root, file)) && !lstatSync(path.join(root, file)).isDirectory());
  return { files: files.filter((file) => !isIgnored(file, patterns)).sort(), ignored: files.filter((file) => isIgnored(file, patterns)).sort(), patterns };
}
