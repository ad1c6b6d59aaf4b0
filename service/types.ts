/**
 * The records the service hands out, for its HTTP face: api/ takes them from here, never from
 * store/, so that it talks to the service only.
 */
export {
  type DatasetRecord,
  FINISHED_STATES,
  JOB_STATES,
  type JobRecord,
  type JobState,
  type StoredEvent,
} from "../store/types.ts";
