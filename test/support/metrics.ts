import { client } from './http';

/** The value of an unlabelled series in the gateway's /metrics at `url`; undefined when it is absent. */
export async function metricValue(url: string, name: string): Promise<number | undefined> {
  const text = (await client(url).get('/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}
