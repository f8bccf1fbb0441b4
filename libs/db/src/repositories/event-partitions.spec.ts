import { intervalAt, uncovered } from './event-partitions.repository';

const at = (iso: string) => Date.parse(iso);

describe('the ranges of partitions of events', () => {
  it('names a month or a day by its start in UTC, and steps across the ends of months and years', () => {
    const now = at('2026-12-31T23:30:00.000Z');
    expect(intervalAt('month', now)).toEqual({ name: 'events_2026_12', from: at('2026-12-01T00:00:00Z'), to: at('2027-01-01T00:00:00Z') });
    expect(intervalAt('month', now, 2)).toEqual({ name: 'events_2027_02', from: at('2027-02-01T00:00:00Z'), to: at('2027-03-01T00:00:00Z') });
    expect(intervalAt('day', now)).toEqual({ name: 'events_2026_12_31', from: at('2026-12-31T00:00:00Z'), to: at('2027-01-01T00:00:00Z') });
    expect(intervalAt('day', now, 1)).toEqual({ name: 'events_2027_01_01', from: at('2027-01-01T00:00:00Z'), to: at('2027-01-02T00:00:00Z') });
  });

  it('finds the parts of a range no partition covers: after the cut-over, between days of another interval, none when covered', () => {
    const month = { from: at('2026-12-01T00:00:00Z'), to: at('2027-01-01T00:00:00Z') };
    const legacy = { from: -Infinity, to: at('2026-12-02T10:00:01Z') };
    expect(uncovered(month.from, month.to, [legacy])).toEqual([{ from: legacy.to, to: month.to }]);
    const days = [
      { from: at('2026-12-05T00:00:00Z'), to: at('2026-12-06T00:00:00Z') },
      { from: at('2026-12-06T00:00:00Z'), to: at('2026-12-07T00:00:00Z') },
    ];
    expect(uncovered(month.from, month.to, [...days, legacy])).toEqual([
      { from: legacy.to, to: days[0].from },
      { from: days[1].to, to: month.to },
    ]);
    expect(uncovered(month.from, month.to, [{ from: -Infinity, to: Infinity }])).toEqual([]);
    expect(uncovered(month.from, month.to, [month])).toEqual([]);
  });
});
