import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import dockerfileUtils from 'dockerfile-utils';

const { validate, ValidationSeverity } = dockerfileUtils;

/** Every optional check of dockerfile-utils, as an error. */
const STRICT = {
  deprecatedMaintainer: ValidationSeverity.ERROR,
  directiveCasing: ValidationSeverity.ERROR,
  emptyContinuationLine: ValidationSeverity.ERROR,
  instructionCasing: ValidationSeverity.ERROR,
  instructionCmdMultiple: ValidationSeverity.ERROR,
  instructionEntrypointMultiple: ValidationSeverity.ERROR,
  instructionHealthcheckMultiple: ValidationSeverity.ERROR,
  instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
  instructionWorkdirRelative: ValidationSeverity.ERROR,
};

/**
 * Lints a Dockerfile: the syntax and instruction checks of dockerfile-utils (the linter of the
 * Docker language server), then this project's rules for the runtime image: multi-stage, the last
 * stage runs as a non-root user, has a HEALTHCHECK, and starts in exec form (so that the app is
 * PID 1 and gets SIGTERM). Returns the problems, `line N: message`; empty when clean.
 */
export function dockerfileProblems(text: string): string[] {
  const problems = validate(text, STRICT).map((diagnostic) => `line ${diagnostic.range.start.line + 1}: ${diagnostic.message}`);
  const dockerfile = DockerfileParser.parse(text);
  const froms = dockerfile.getFROMs();
  if (froms.length < 2) {
    return [...problems, 'not a multi-stage build: build in one stage, copy the result into a small runtime stage'];
  }
  for (const from of froms) {
    if (from.getImageTag() === null && from.getImageDigest() === null) {
      problems.push(`line ${lineOf(from)}: base image ${from.getImageName() ?? '?'} has no tag; pin one`);
    }
  }
  const lastStage = dockerfile.getInstructions().filter((instruction) => lineOf(instruction) >= lineOf(froms[froms.length - 1]));
  const last = (keyword: string) => lastStage.filter((instruction) => instruction.getKeyword() === keyword).at(-1);
  const user = last('USER')?.getArguments()[0]?.getValue();
  if (user === undefined || /^(root|0)(:|$)/.test(user)) {
    problems.push('the runtime stage runs as root: add USER with an unprivileged user');
  }
  if (last('HEALTHCHECK') === undefined) {
    problems.push('the runtime stage has no HEALTHCHECK');
  }
  for (const keyword of ['ENTRYPOINT', 'CMD']) {
    const instruction = last(keyword);
    if (instruction !== undefined && !instruction.getArgumentsContent()?.trim().startsWith('[')) {
      problems.push(
        `line ${lineOf(instruction)}: ${keyword} in shell form: the app would not be PID 1 and would miss SIGTERM; use the JSON form`,
      );
    }
  }
  return problems;
}

function lineOf(instruction: Instruction): number {
  return instruction.getRange().start.line + 1;
}
