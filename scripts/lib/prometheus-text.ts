/** One sample line of the Prometheus text format: `name{label="value",...} value`. */
export interface PrometheusSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A metric family: its `# TYPE`, `# HELP` and the samples whose names belong to it. */
export interface PrometheusFamily {
  name: string;
  type: string;
  help: string;
  samples: PrometheusSample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;
const SUFFIXES = ['_bucket', '_sum', '_count'];

/**
 * Parses the Prometheus text exposition format (what `/metrics` serves) into families; throws on
 * a line it cannot read, or a sample that belongs to no declared family.
 */
export function parsePrometheusText(text: string): Map<string, PrometheusFamily> {
  const families = new Map<string, PrometheusFamily>();
  const family = (name: string) => {
    let found = families.get(name);
    if (found === undefined) {
      found = { name, type: 'untyped', help: '', samples: [] };
      families.set(name, found);
    }
    return found;
  };
  for (const line of text.split('\n')) {
    if (line === '') {
      continue;
    }
    const comment = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (comment !== null) {
      family(comment[2])[comment[1] === 'HELP' ? 'help' : 'type'] = comment[3];
      continue;
    }
    const sample = SAMPLE.exec(line);
    if (sample === null) {
      throw new Error(`Not a Prometheus sample line: ${line}`);
    }
    const [, name, labelText = '', value] = sample;
    const labels: Record<string, string> = {};
    let read = 0;
    LABEL.lastIndex = 0;
    for (let match = LABEL.exec(labelText); match !== null; match = LABEL.exec(labelText)) {
      labels[match[1]] = match[2].replace(/\\(.)/g, (_, char: string) => (char === 'n' ? '\n' : char));
      read = LABEL.lastIndex;
    }
    if (read !== labelText.length) {
      throw new Error(`Unreadable labels in: ${line}`);
    }
    const base = SUFFIXES.find((suffix) => name.endsWith(suffix) && families.has(name.slice(0, -suffix.length)));
    const owner = families.get(base === undefined ? name : name.slice(0, -base.length));
    if (owner === undefined) {
      throw new Error(`Sample of an undeclared metric: ${line}`);
    }
    owner.samples.push({ name, labels, value: Number(value) });
  }
  return families;
}
