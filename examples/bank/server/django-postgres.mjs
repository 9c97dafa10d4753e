// startDjangoPostgresBank: the Django bank on PostgreSQL with its own emits switched off, and
// nudge-cdc turning the database's committed changes into the same events
// (examples/bank/cdc-rules.toml) — so a change made with psql reaches the browsers too.
// Same options and result as startBank (app.mjs), plus `postgresUrl` in the result.
import { startCdc } from './cdc.mjs';
import { startDjangoBank } from './django.mjs';
import { startPostgres } from './postgres.mjs';

export async function startDjangoPostgresBank({ postgresPort = 0, ...options }) {
  const postgres = await startPostgres({ port: postgresPort });
  const started = [];
  try {
    // The backend migrates and seeds first; nudge-cdc then streams every commit after its start.
    const bank = await startDjangoBank({ ...options, databaseUrl: postgres.url, emits: false });
    started.push(bank);
    const cdc = await startCdc({
      postgresUrl: postgres.url,
      hubUrl: options.hubUrl,
      apiKey: options.apiKey,
      log: options.log,
    });
    started.push(cdc);
    let closing;
    return {
      url: bank.url,
      postgresUrl: postgres.url,
      exited: Promise.race([
        bank.exited,
        cdc.exited.then((status) => `nudge-cdc exited (${status})`),
      ]),
      close() {
        closing ??= Promise.all([bank.close(), cdc.close()]).then(() => postgres.stop());
        return closing;
      },
    };
  } catch (error) {
    await Promise.all(started.map((child) => child.close()));
    await postgres.stop();
    throw error;
  }
}
