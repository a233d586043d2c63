/**
 * Environment variables a submission may not set for an `exec` child when WORKER_EXEC_ALLOW lists
 * commands: each chooses which program runs, loads code into it (dynamic loader, interpreter
 * start-up hooks), or changes how a shell parses and runs what it is given. docs/security.md
 * lists them; keep the two in step.
 */
const BLOCKED_NAMES: ReadonlySet<string> = new Set([
  // which program runs, and the child's own home (its working directory)
  'PATH',
  'HOME',
  // Node.js
  'NODE_OPTIONS',
  'NODE_PATH',
  'NODE_REPL_EXTERNAL_MODULE',
  'NODE_EXTRA_CA_CERTS',
  // Java
  'JAVA_TOOL_OPTIONS',
  '_JAVA_OPTIONS',
  'JDK_JAVA_OPTIONS',
  'CLASSPATH',
  // Perl, Ruby, Lua, Tcl
  'PERLLIB',
  'GEM_HOME',
  'GEM_PATH',
  'LUA_PATH',
  'LUA_CPATH',
  'LUA_INIT',
  'TCLLIBPATH',
  // shells
  'BASH_ENV',
  'ENV',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'IFS',
  'CDPATH',
  'PROMPT_COMMAND',
  'GLOBIGNORE',
  // glibc: character sets, locales, messages, resolver, allocator
  'GCONV_PATH',
  'LOCPATH',
  'NLSPATH',
  'HOSTALIASES',
  'RESOLV_HOST_CONF',
  'LOCALDOMAIN',
  'RES_OPTIONS',
  // where temporary files go (a shared directory another run could watch)
  'TMPDIR',
  // programs other programs start
  'EDITOR',
  'VISUAL',
  'PAGER',
  'BROWSER',
  'SSH_ASKPASS',
  'SUDO_ASKPASS',
  'OPENSSL_CONF',
  'OPENSSL_ENGINES',
]);

/** Name prefixes blocked whole: every variable of these families is a loader or interpreter hook. */
const BLOCKED_PREFIXES: readonly string[] = [
  'LD_', // dynamic loader (LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT, ...)
  'DYLD_', // macOS dynamic loader
  'PYTHON', // PYTHONPATH, PYTHONSTARTUP, PYTHONHOME, PYTHONINSPECT, ...
  'PERL5', // PERL5LIB, PERL5OPT, PERL5DB
  'RUBY', // RUBYOPT, RUBYLIB, RUBY_*
  'BASH_FUNC_', // exported shell functions (Shellshock-style definitions)
  'MALLOC_', // glibc allocator tuning and checks
  'GLIBC_TUNABLES',
  'GIT_', // GIT_SSH, GIT_EXEC_PATH, GIT_CONFIG_*, GIT_ASKPASS: git runs what they name
];

/** Whether a submission may set `name` for an exec child under an allow list. */
export function isBlockedEnvName(name: string): boolean {
  if (BLOCKED_NAMES.has(name)) return true;
  return BLOCKED_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/** Variables of the worker's own environment every child gets (when the worker has them). */
export const EXEC_BASE_ENV = ['PATH', 'LANG', 'TZ'] as const;

/**
 * The worker's variables a child inherits: PATH, LANG, TZ and the names in WORKER_EXEC_ENV_PASS,
 * those the worker has.
 */
export function inheritedEnv(
  workerEnv: Readonly<Record<string, string | undefined>>,
  pass: readonly string[],
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of [...EXEC_BASE_ENV, ...pass]) {
    const value = workerEnv[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/**
 * The child's whole environment: what it inherits, HOME set to the run's working directory, then
 * what the submission sets and the secrets it maps. Nothing else of the worker's environment
 * (object-store keys, DATABASE_URL, NATS credentials) reaches the child.
 */
export function childEnv(opts: {
  inherited: Readonly<Record<string, string>>;
  home: string;
  input: Readonly<Record<string, string>> | undefined;
  secrets: Readonly<Record<string, string>>;
}): Record<string, string> {
  return { ...opts.inherited, HOME: opts.home, ...opts.input, ...opts.secrets };
}
