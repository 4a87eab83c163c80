/** The `pattern` label of a message whose pattern has no label of its own. */
export const OTHER_PATTERN = 'other';

/**
 * Keeps the `pattern` label bounded: known patterns are labels of their own, and so are the first
 * `learn` others seen; every pattern after those is `other`. A peer sending random patterns can
 * therefore not make the registry grow.
 */
export class PatternLabels {
  private readonly learned = new Set<string>();

  constructor(
    private readonly isKnown: (pattern: string) => boolean,
    private readonly learn: number,
  ) {}

  label(pattern: string): string {
    if (this.isKnown(pattern) || this.learned.has(pattern)) {
      return pattern;
    }
    if (this.learned.size < this.learn) {
      this.learned.add(pattern);
      return pattern;
    }
    return OTHER_PATTERN;
  }
}
