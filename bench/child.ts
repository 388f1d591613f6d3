/** How a bench child process ends: its result as one JSON line on stdout (see runChild in harness.ts), exit 0. */
export function printResult(result: Promise<unknown>) {
  result.then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
