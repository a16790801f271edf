import { useCallback, useState } from 'react';
import { api } from '../api';
import { useApiData } from '../use-api-data';
import type { Device } from './types';

/** IoT Central's page size (CENTRAL_API.md §1.1). */
export const PAGE_SIZE = 25;

/** The columns the list sorts by: the API's `$orderby` field names. */
export type SortField = 'displayName' | 'id' | 'provisioned' | 'connected' | 'lastActivity' | 'template';
export interface Sort {
  field: SortField;
  descending: boolean;
}

/** An OData string literal: a quote inside is written twice. */
function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** The server-side filter of the search box: ID or name contains the words, ignoring case. */
export function searchFilter(search: string): string | undefined {
  const q = search.trim().toLowerCase();
  if (q === '') return undefined;
  return `contains(tolower(id),${literal(q)}) or contains(tolower(displayName),${literal(q)})`;
}

/** The path of the first page for these options. */
export function firstPagePath(options: { sort: Sort; search: string; group: string }): string {
  const params = new URLSearchParams({ maxpagesize: String(PAGE_SIZE) });
  params.set('orderby', `${options.sort.field} ${options.sort.descending ? 'desc' : 'asc'}`);
  const filter = searchFilter(options.search);
  if (filter !== undefined) params.set('filter', filter);
  if (options.group !== '') params.set('deviceGroup', options.group);
  return `/api/devices?${params.toString()}`;
}

/** A nextLink as a path on this origin (the link names the server's configured host name). */
function local(link: string): string {
  const url = new URL(link, window.location.origin);
  return url.pathname + url.search;
}

/**
 * The device list one page at a time, filtered and sorted by the server (`GET /api/devices` with
 * `maxpagesize`, `orderby`, `filter`): Next follows the answer's `nextLink`, Previous goes back
 * to the page before (the links already followed are kept), and a new sort, search or group
 * starts again at the first page.
 */
export function useDeviceList(options: { sort: Sort; search: string; group: string }) {
  const first = firstPagePath(options);
  // The pages followed from the first: the last one is shown.
  const [trail, setTrail] = useState<{ first: string; pages: string[] }>({ first, pages: [first] });
  const pages = trail.first === first ? trail.pages : [first];
  const current = pages[pages.length - 1]!;
  const list = useApiData(() => api<{ value: Device[]; nextLink?: string }>('GET', current), current);

  const next = useCallback(() => {
    const link = list.data?.nextLink;
    if (link !== undefined) setTrail({ first, pages: [...pages, local(link)] });
  }, [list.data, first, pages]);
  const previous = useCallback(() => {
    if (pages.length > 1) setTrail({ first, pages: pages.slice(0, -1) });
  }, [first, pages]);

  return {
    ...list,
    page: pages.length,
    hasNext: list.data?.nextLink !== undefined,
    hasPrevious: pages.length > 1,
    next,
    previous,
  };
}
