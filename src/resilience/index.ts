export {
  withDeadline,
  remainingMs,
  currentDeadline,
  deadlineSignal,
  resolveBudget,
  abortError,
  DEFAULT_DEADLINE_FLOOR_MS,
  type WithDeadlineOptions,
  type DeadlineInfo,
  type Budget,
} from './deadline.js';
