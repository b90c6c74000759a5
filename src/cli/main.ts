// `moco-cxr`: the Node command line over src/core. Each subcommand lives in its own file and
// registers here; bin/moco-cxr.js calls main() and exits with what it returns.
import { convertCommand } from './convert.ts';
import { evalCommand } from './eval.ts';
import { inspectCommand } from './inspect.ts';

export interface Command {
  name: string;
  usage: string;
  summary: string;
  /** the full help text, printed for `moco-cxr <command> --help` */
  help: string;
  /** returns the exit code: 0 done, 1 failed (reason on stderr), 2 bad usage */
  run(args: string[]): Promise<number>;
}

const COMMANDS: Command[] = [inspectCommand, convertCommand, evalCommand];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.usage.length));
  return [
    'usage: moco-cxr <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'moco-cxr <command> --help' for a command's options.",
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    console.error(name === undefined ? help() : `moco-cxr: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.help);
    return 0;
  }
  return command.run(rest);
}
