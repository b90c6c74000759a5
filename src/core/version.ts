export const CORE_VERSION = 1;
