import { Histogram, Metrics } from './metrics';

describe('Metrics', () => {
  it('renders cumulative histogram buckets, sum and count', () => {
    const histogram = new Histogram();
    for (const seconds of [0.001, 0.02, 0.02, 3, 42]) histogram.observe(seconds);
    const lines = histogram.render('x', 'route="/a"');
    expect(lines).toContain('x_bucket{route="/a",le="0.005"} 1');
    expect(lines).toContain('x_bucket{route="/a",le="0.025"} 3');
    expect(lines).toContain('x_bucket{route="/a",le="5"} 4');
    expect(lines).toContain('x_bucket{route="/a",le="10"} 4');
    expect(lines).toContain('x_bucket{route="/a",le="+Inf"} 5');
    expect(lines).toContain('x_count{route="/a"} 5');
    expect(lines.find((l) => l.startsWith('x_sum'))).toBe('x_sum{route="/a"} 45.041');
  });

  it('counts by route template and status class, and leaves out a failing collector', async () => {
    const metrics = new Metrics();
    metrics.recordRequest('/v1/x', 'POST', 200, 0.01);
    metrics.recordRequest('/v1/x', 'POST', 204, 0.01);
    metrics.recordRequest('unmatched', 'GET', 404, 0.001);
    metrics.register(() => { throw Object.assign(new Error('down'), { code: 'ECONNREFUSED' }); });
    metrics.register(() => ['custom_gauge 1']);
    metrics.histogram('custom_seconds', 'A custom histogram.', [0.001, 0.01]).observe(0.002);
    const text = await metrics.render();
    expect(text).toContain('gateway_http_requests_total{route="/v1/x",method="POST",status_class="2xx"} 2');
    expect(text).toContain('gateway_http_requests_total{route="unmatched",method="GET",status_class="4xx"} 1');
    expect(text).toContain('custom_gauge 1\n');
    expect(text).toContain('# TYPE custom_seconds histogram\n');
    expect(text).toContain('custom_seconds_bucket{le="0.001"} 0\ncustom_seconds_bucket{le="0.01"} 1\ncustom_seconds_bucket{le="+Inf"} 1\n');
    expect(text).toContain('custom_seconds_count 1\n');
  });
});
