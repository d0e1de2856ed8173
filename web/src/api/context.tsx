/** The API client, provided once at the top of the tree (after /config.json is read). */
import { createContext, useContext } from 'react';
import type { ApiClient } from './client';

export const ApiContext = createContext<ApiClient | null>(null);

export function useApiClient(): ApiClient {
  const api = useContext(ApiContext);
  if (!api) throw new Error('useApiClient must be used inside <ApiContext.Provider>');
  return api;
}
