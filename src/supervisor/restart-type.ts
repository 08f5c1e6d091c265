/**
 * `'permanent'`: always restarted; `'transient'`: only after an abnormal exit; `'temporary'`: never.
 * Its own module so that handler options can name it without importing the supervisor's types (which import
 * the handler's).
 */
export type RestartType = 'permanent' | 'transient' | 'temporary';
