export type { ArchiveSearchService } from "./service.ts";
export { searchTablePath, startArchiveSearchService } from "./service.ts";
