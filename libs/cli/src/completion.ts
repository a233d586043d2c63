import type { Command } from './command.js';
import { GLOBAL_FLAGS } from './global-flags.js';

function words(commands: readonly Command[]) {
  const top = [...new Set(commands.map((c) => c.name.split(' ')[0]!)), 'completion', 'help'];
  const subs = new Map<string, string[]>();
  for (const c of commands) {
    const [group, sub] = c.name.split(' ');
    if (sub !== undefined) subs.set(group!, [...(subs.get(group!) ?? []), sub]);
  }
  subs.set('completion', ['bash', 'zsh']);
  const flags = (c: Command | undefined) =>
    [...Object.keys(c?.flags ?? {}), ...Object.keys(GLOBAL_FLAGS)].map((f) => `--${f}`).join(' ');
  return { top, subs, flags };
}

/** A bash completion script: `source <(niyanta completion bash)`. */
export function bashCompletion(commands: readonly Command[]): string {
  const { top, subs, flags } = words(commands);
  const cases = [...[...subs.entries()].map(([g, s]) => `    "${g}") words="${s.join(' ')}" ;;`)];
  const flagCases = commands.map((c) => `    "${c.name}") flags="${flags(c)}" ;;`);
  return `# niyanta completion for bash: source <(niyanta completion bash)
_niyanta() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" cmd="" sub="" words="" flags=""
  local i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in -*) ;; *) if [[ -z "$cmd" ]]; then cmd="\${COMP_WORDS[i]}"; elif [[ -z "$sub" ]]; then sub="\${COMP_WORDS[i]}"; fi ;; esac
  done
  if [[ "$cur" == -* ]]; then
    case "$cmd $sub" in
${flagCases.map((l) => l.replace(/^ {4}"([^"]+)"/, '    "$1"|"$1 "*')).join('\n')}
      *) flags="${flags(undefined)}" ;;
    esac
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    return
  fi
  if [[ -z "$cmd" ]]; then
    COMPREPLY=($(compgen -W "${top.join(' ')}" -- "$cur"))
    return
  fi
  if [[ -z "$sub" ]]; then
    case "$cmd" in
${cases.join('\n')}
    esac
    [[ -n "$words" ]] && COMPREPLY=($(compgen -W "$words" -- "$cur"))
  fi
}
complete -o default -F _niyanta niyanta
`;
}

/** A zsh completion script: `source <(niyanta completion zsh)` (or save it as _niyanta on $fpath). */
export function zshCompletion(commands: readonly Command[]): string {
  const { top, subs, flags } = words(commands);
  const summary = (name: string) =>
    commands.find((c) => c.name === name || c.name.startsWith(`${name} `))?.summary ?? name;
  return `#compdef niyanta
# niyanta completion for zsh: source <(niyanta completion zsh)
_niyanta() {
  local -a commands subcommands
  commands=(
${top.map((t) => `    '${t}:${summary(t).replace(/'/g, '')}'`).join('\n')}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  if [[ "\${words[CURRENT]}" == -* ]]; then
    case "\${words[2]} \${words[3]}" in
${commands.map((c) => `      "${c.name}"|"${c.name} "*) compadd -- ${flags(c)} ;;`).join('\n')}
      *) compadd -- ${flags(undefined)} ;;
    esac
    return
  fi
  if (( CURRENT == 3 )); then
    case "\${words[2]}" in
${[...subs.entries()].map(([g, s]) => `      ${g}) compadd -- ${s.join(' ')} ;;`).join('\n')}
      *) _files ;;
    esac
    return
  fi
  _files
}
if [[ "$funcstack[1]" == "_niyanta" ]]; then _niyanta "$@"; else compdef _niyanta niyanta; fi
`;
}
