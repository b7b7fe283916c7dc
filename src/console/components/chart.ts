import { html, Html } from '../html';
import { frenchMonth, percent } from '../dates';

export interface MonthFigure {
  month: string;
  availability: number | null;
  provisional?: boolean;
}

/**
 * Monthly availability as a bar chart in server-rendered SVG, with the 95% target as a line. The chart is an image
 * with a text alternative; the same figures are always given in a table beside it (RGAA: a chart is not the only
 * way to read them).
 */
export function availabilityChart(months: MonthFigure[], target: number, title: string): Html {
  const width = 720;
  const height = 260;
  const left = 56;
  const bottom = 40;
  const top = 16;
  const measured = months.filter((m) => m.availability !== null).map((m) => m.availability!);
  // Availability lives near the top: the axis starts a little below the lowest month or the target, whichever is lower.
  const floor = Math.max(0, Math.floor(Math.min(target - 0.02, ...measured) * 100 - 1) / 100);
  const y = (ratio: number) => top + (1 - (ratio - floor) / (1 - floor)) * (height - top - bottom);
  const slot = (width - left - 8) / Math.max(12, months.length); // a year's room: bars keep their width as months come
  const ticks = [floor, (floor + 1) / 2, target, 1].filter((v, i, all) => all.indexOf(v) === i).sort();
  const summary = months.map((m) => `${frenchMonth(m.month)} : ${percent(m.availability)}`).join(' ; ');
  return html`<figure class="fr-my-3w" role="group" aria-labelledby="chart-title">
    <svg class="cnam-chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">
      <title id="chart-title">${title}</title>
      <desc id="chart-desc">Objectif ${percent(target)}. ${summary}</desc>
      ${ticks.map((tick) => html`<line class="axis" x1="${left}" x2="${width}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}"></line>
        <text x="${left - 6}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end">${Math.round(tick * 1000) / 10} %</text>`)}
      ${months.map((m, i) => {
        const x = left + i * slot + slot * 0.15;
        const label = html`<text x="${(x + slot * 0.35).toFixed(1)}" y="${height - bottom + 16}" text-anchor="middle">${m.month.slice(5)}/${m.month.slice(2, 4)}</text>`;
        if (m.availability === null) return label;
        const barTop = y(Math.max(floor, m.availability));
        return html`<rect class="${m.availability >= target ? 'bar-met' : 'bar-missed'}" x="${x.toFixed(1)}" y="${barTop.toFixed(1)}" width="${(slot * 0.7).toFixed(1)}" height="${(height - bottom - barTop).toFixed(1)}"></rect>${label}`;
      })}
      <line class="target" x1="${left}" x2="${width}" y1="${y(target).toFixed(1)}" y2="${y(target).toFixed(1)}"></line>
      <text x="${width - 4}" y="${(y(target) - 6).toFixed(1)}" text-anchor="end">objectif ${Math.round(target * 100)} %</text>
    </svg>
    <figcaption class="fr-text--sm">Barres : disponibilité mensuelle (rouge sous l'objectif) ; ligne pointillée : objectif de ${Math.round(target * 100)} %. Les mêmes chiffres figurent dans le tableau.</figcaption>
  </figure>`;
}
