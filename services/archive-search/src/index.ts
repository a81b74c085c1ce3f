export type { ArchiveSearchService } from "./service.ts";
export { searchTable, startArchiveSearchService } from "./service.ts";
