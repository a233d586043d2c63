import type { Command, Flag } from './command.js';
import { GLOBAL_FLAGS } from './global-flags.js';

/** What `niyanta completion <shell>` prints for: the shells and how to load each. */
export const COMPLETION_SHELLS = {
  bash: 'source <(niyanta completion bash)   # in ~/.bashrc',
  zsh: 'source <(niyanta completion zsh)    # in ~/.zshrc (after compinit, or it runs compinit)',
} as const;

interface Word {
  name: string;
  description: string;
}

/** A command's flags, then the global ones it does not redefine. */
function flagsOf(c: Command | undefined): [string, Flag][] {
  const own = Object.entries(c?.flags ?? {});
  const names = new Set(own.map(([n]) => n));
  return [...own, ...Object.entries(GLOBAL_FLAGS).filter(([n]) => !names.has(n))];
}

/** The words both scripts complete, from the command table (so a new command completes). */
function wordsOf(commands: readonly Command[]) {
  const groups = new Map<string, Word[]>();
  const top: Word[] = [];
  for (const c of commands) {
    const [group, sub] = c.name.split(' ') as [string, string | undefined];
    if (sub === undefined) {
      top.push({ name: group, description: c.summary });
      continue;
    }
    if (!groups.has(group)) {
      groups.set(group, []);
      top.push({ name: group, description: '' });
    }
    groups.get(group)!.push({ name: sub, description: c.summary });
  }
  for (const w of top) {
    const subs = groups.get(w.name);
    if (subs !== undefined)
      w.description = `${subs.map((s) => s.name).join(', ')} (see niyanta ${w.name} --help)`;
  }
  top.push({ name: 'completion', description: 'Print a shell completion script (bash, zsh)' });
  top.push({ name: 'help', description: 'Show help for a command' });
  groups.set(
    'completion',
    Object.entries(COMPLETION_SHELLS).map(([name, description]) => ({ name, description })),
  );
  // Flags that take a value, with their short forms: their next word is no command word.
  const valueFlags = new Set<string>();
  // Values a flag takes from a closed set, completed after it.
  const choices = new Map<string, readonly string[]>();
  for (const c of [...commands, undefined]) {
    for (const [name, f] of flagsOf(c)) {
      if (f.type !== 'string') continue;
      const spellings = [`--${name}`, ...(f.short === undefined ? [] : [`-${f.short}`])];
      for (const s of spellings) {
        valueFlags.add(s);
        if (f.choices !== undefined) choices.set(s, f.choices);
      }
    }
  }
  const flagWords = (c: Command | undefined) => flagsOf(c).map(([n]) => `--${n}`);
  return { top, groups, valueFlags: [...valueFlags], choices, flagWords };
}

/** `'text'` for a POSIX shell, whatever the text holds. */
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A bash completion script: `source <(niyanta completion bash)`. */
export function bashCompletion(commands: readonly Command[]): string {
  const { top, groups, valueFlags, choices, flagWords } = wordsOf(commands);
  const flagCases = commands.map(
    (c) =>
      `      ${quote(c.name)}|${quote(`${c.name} `)}*) flags=${quote(flagWords(c).join(' '))} ;;`,
  );
  const choiceCases = [...choices.entries()].map(
    ([f, values]) =>
      `    ${f}) COMPREPLY=($(compgen -W ${quote(values.join(' '))} -- "$cur")); return ;;`,
  );
  const subCases = [...groups.entries()].map(
    ([g, subs]) => `      ${g}) words=${quote(subs.map((s) => s.name).join(' '))} ;;`,
  );
  return `# niyanta completion for bash: ${COMPLETION_SHELLS.bash}
_niyanta() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" cmd="" sub="" words="" flags="" skip=""
  (( COMP_CWORD > 0 )) && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    if [[ -n "$skip" ]]; then skip=""; continue; fi
    case "$w" in
      ${valueFlags.join('|')}) skip=1 ;;
      -*) ;;
      *) if [[ -z "$cmd" ]]; then cmd="$w"; elif [[ -z "$sub" ]]; then sub="$w"; fi ;;
    esac
  done
  COMPREPLY=()
  case "$prev" in
${choiceCases.join('\n')}
    ${valueFlags.join('|')}) return ;;
  esac
  if [[ "$cur" == -* ]]; then
    case "$cmd $sub" in
${flagCases.join('\n')}
      *) flags=${quote(flagWords(undefined).join(' '))} ;;
    esac
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    return
  fi
  if [[ -z "$cmd" ]]; then
    COMPREPLY=($(compgen -W ${quote(top.map((t) => t.name).join(' '))} -- "$cur"))
    return
  fi
  if [[ -z "$sub" ]]; then
    case "$cmd" in
${subCases.join('\n')}
    esac
    [[ -n "$words" ]] && COMPREPLY=($(compgen -W "$words" -- "$cur"))
  fi
}
complete -o default -F _niyanta niyanta
`;
}

/** A zsh completion script: `source <(niyanta completion zsh)` (or save it as _niyanta on $fpath). */
export function zshCompletion(commands: readonly Command[]): string {
  const { top, groups, valueFlags, choices, flagWords } = wordsOf(commands);
  const described = (words: readonly Word[]) =>
    words.map((w) => `      ${quote(`${w.name}:${w.description}`)}`).join('\n');
  const flagCases = commands.map(
    (c) =>
      `      (${quote(c.name)}|${quote(`${c.name} `)}*) compadd -- ${flagWords(c).join(' ')} ;;`,
  );
  const choiceCases = [...choices.entries()].map(
    ([f, values]) => `    (${f}) compadd -- ${values.join(' ')}; return ;;`,
  );
  const subCases = [...groups.entries()].map(
    ([g, subs]) => `      (${g}) subs=(\n${described(subs)}\n      ) ;;`,
  );
  return `#compdef niyanta
# niyanta completion for zsh: ${COMPLETION_SHELLS.zsh}
_niyanta() {
  local -a commands subs
  local cmd="" sub="" skip="" w
  local -i i
  for (( i = 2; i < CURRENT; i++ )); do
    w="\${words[i]}"
    if [[ -n "$skip" ]]; then skip=""; continue; fi
    case "$w" in
      (${valueFlags.join('|')}) skip=1 ;;
      (-*) ;;
      (*) if [[ -z "$cmd" ]]; then cmd="$w"; elif [[ -z "$sub" ]]; then sub="$w"; fi ;;
    esac
  done
  case "\${words[CURRENT-1]}" in
${choiceCases.join('\n')}
    (--input) _files; return ;;
    (${valueFlags.join('|')}) return ;;
  esac
  if [[ "\${words[CURRENT]}" == -* ]]; then
    case "$cmd $sub" in
${flagCases.join('\n')}
      (*) compadd -- ${flagWords(undefined).join(' ')} ;;
    esac
    return
  fi
  if [[ -z "$cmd" ]]; then
    commands=(
${described(top)}
    )
    _describe 'command' commands
    return
  fi
  if [[ -z "$sub" ]]; then
    case "$cmd" in
${subCases.join('\n')}
    esac
    (( \${#subs} )) && _describe 'subcommand' subs
  fi
}
if [[ "$funcstack[1]" == "_niyanta" ]]; then
  _niyanta "$@"
else
  # Sourced: compdef comes from compinit, which a ~/.zshrc may not have run yet.
  (( $+functions[compdef] )) || { autoload -Uz compinit && compinit }
  compdef _niyanta niyanta
fi
`;
}
