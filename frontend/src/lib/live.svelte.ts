// A reactive "now" that ticks while the component using it is mounted.

export interface LiveNow {
  readonly value: number;
  /** Re-reads the clock at once (after the QA clock moved). */
  refresh(): void;
}

/**
 * Must be called during component initialisation. `read` is a closure (e.g.
 * `() => clock.now()`) so a component always reads the clock prop it has now.
 */
export function liveNow(read: () => number, everyMs = 250): LiveNow {
  let now = $state(read());
  $effect(() => {
    const timer = setInterval(() => {
      now = read();
    }, everyMs);
    return () => clearInterval(timer);
  });
  return {
    get value() {
      return now;
    },
    refresh() {
      now = read();
    },
  };
}
