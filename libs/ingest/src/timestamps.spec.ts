import { correctTimestamp } from './timestamps';

const receivedAt = '2024-05-01T12:00:00.000Z';
const receivedAtMs = Date.UTC(2024, 4, 1, 12, 0, 0, 0);

describe('correctTimestamp', () => {
  describe('with the client time and sentAt: timestamp = receivedAt − (sentAt − clientTime)', () => {
    it('corrects a client clock one hour behind', () => {
      // The event happened 10 s before the client sent it; the client's clock reads 11:00 at 12:00.
      expect(correctTimestamp({ receivedAt, receivedAtMs, originalTimestamp: '2024-05-01T10:59:50.000Z', sentAt: '2024-05-01T11:00:00.000Z' })).toEqual({
        timestamp: '2024-05-01T11:59:50.000Z',
        originalTimestamp: '2024-05-01T10:59:50.000Z',
      });
    });

    it('corrects a client clock ahead and in another offset, keeping the client text as sent', () => {
      // 14:30:05.250+02:00 is 12:30:05.250Z, sent 1.75 s later at 12:30:07Z: the event is 1.75 s before 12:00:00.
      expect(correctTimestamp({ receivedAt, receivedAtMs, originalTimestamp: '2024-05-01T14:30:05.250+02:00', sentAt: '2024-05-01T14:30:07+02:00' })).toEqual({
        timestamp: '2024-05-01T11:59:58.250Z',
        originalTimestamp: '2024-05-01T14:30:05.250+02:00',
      });
    });

    it('gives receivedAt itself when the event was sent the moment it happened', () => {
      expect(correctTimestamp({ receivedAt, receivedAtMs, originalTimestamp: '2023-01-01T00:00:00.000Z', sentAt: '2023-01-01T00:00:00.000Z' })).toEqual({
        timestamp: '2024-05-01T12:00:00.000Z',
        originalTimestamp: '2023-01-01T00:00:00.000Z',
      });
    });

    it('uses the client timestamp as client time when there is no originalTimestamp (Segment)', () => {
      expect(correctTimestamp({ receivedAt, receivedAtMs, timestamp: '2024-05-01T10:59:30.000Z', sentAt: '2024-05-01T11:00:00.000Z' })).toEqual({
        timestamp: '2024-05-01T11:59:30.000Z',
        originalTimestamp: '2024-05-01T10:59:30.000Z',
      });
    });

    it('prefers originalTimestamp over the client timestamp', () => {
      expect(
        correctTimestamp({
          receivedAt,
          receivedAtMs,
          originalTimestamp: '2024-05-01T10:59:50.000Z',
          timestamp: '2024-05-01T10:00:00.000Z',
          sentAt: '2024-05-01T11:00:00.000Z',
        }),
      ).toEqual({ timestamp: '2024-05-01T11:59:50.000Z', originalTimestamp: '2024-05-01T10:59:50.000Z' });
    });
  });

  describe('without both times', () => {
    it('keeps the client originalTimestamp as is when there is no sentAt', () => {
      expect(correctTimestamp({ receivedAt, receivedAtMs, originalTimestamp: '2024-05-01T10:59:50+01:00' })).toEqual({
        timestamp: '2024-05-01T10:59:50+01:00',
        originalTimestamp: '2024-05-01T10:59:50+01:00',
      });
    });

    it('keeps the client timestamp as is when there is no sentAt', () => {
      expect(correctTimestamp({ receivedAt, receivedAtMs, timestamp: '2024-05-01T10:59:50.000Z' })).toEqual({
        timestamp: '2024-05-01T10:59:50.000Z',
        originalTimestamp: '2024-05-01T10:59:50.000Z',
      });
    });

    it('uses receivedAt when the client sent no time of its own', () => {
      expect(correctTimestamp({ receivedAt, receivedAtMs })).toEqual({ timestamp: receivedAt, originalTimestamp: undefined });
      expect(correctTimestamp({ receivedAt, receivedAtMs, sentAt: '2024-05-01T11:00:00.000Z' })).toEqual({
        timestamp: receivedAt,
        originalTimestamp: undefined,
      });
    });
  });

  describe('with values it cannot read', () => {
    it('keeps the client time uncorrected when sentAt is not a date', () => {
      expect(correctTimestamp({ receivedAt, receivedAtMs, originalTimestamp: '2024-05-01T10:59:50.000Z', sentAt: 'yesterday' })).toEqual({
        timestamp: '2024-05-01T10:59:50.000Z',
        originalTimestamp: '2024-05-01T10:59:50.000Z',
      });
    });

    it('ignores a sentAt that is not a string', () => {
      expect(correctTimestamp({ receivedAt, receivedAtMs, originalTimestamp: '2024-05-01T10:59:50.000Z', sentAt: 1714561200000 })).toEqual({
        timestamp: '2024-05-01T10:59:50.000Z',
        originalTimestamp: '2024-05-01T10:59:50.000Z',
      });
    });

    it('ignores client times that are not strings and uses receivedAt', () => {
      expect(correctTimestamp({ receivedAt, receivedAtMs, originalTimestamp: 1714561190000, timestamp: null, sentAt: '2024-05-01T11:00:00.000Z' })).toEqual({
        timestamp: receivedAt,
        originalTimestamp: undefined,
      });
    });

    it('leaves an unreadable client time uncorrected, as sent (validation rejects such events first)', () => {
      expect(correctTimestamp({ receivedAt, receivedAtMs, originalTimestamp: 'not a date', sentAt: '2024-05-01T11:00:00.000Z' })).toEqual({
        timestamp: 'not a date',
        originalTimestamp: 'not a date',
      });
    });
  });
});
