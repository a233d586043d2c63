// Console output for the dev and test scripts: one style for progress, warnings and failures.
const useColor = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
const paint = (code) => (text) => (useColor ? `\u001b[${code}m${text}\u001b[0m` : String(text));

/** ANSI colours, or plain text when stdout is not a terminal or NO_COLOR is set. */
export const color = {
  bold: paint('1'),
  dim: paint('2'),
  red: paint('31'),
  green: paint('32'),
  yellow: paint('33'),
  blue: paint('34'),
  magenta: paint('35'),
  cyan: paint('36'),
};

/** A step that may take a while is starting. */
export function step(message) {
  console.log(`${color.cyan('▶')} ${message}`);
}

/** A step finished. */
export function done(message) {
  console.log(`${color.green('✔')} ${message}`);
}

/** Plain information. */
export function info(message) {
  console.log(`  ${message}`);
}

/** Something the user should read. */
export function warn(message) {
  console.log(`${color.yellow('!')} ${color.yellow(message)}`);
}

/** A failure that stops the script. */
export function fail(message) {
  console.error(`${color.red('✖')} ${color.red(message)}`);
}
