import { createContext } from "preact";
import type { Info } from "./auth";

/** What `GET /api/console/info` answered at sign-in. */
export const InfoContext = createContext<Info>({
  webhookUrlPrefix: null,
  publicUrlSet: false,
  hint: null,
  principal: "",
  pluginsEnabled: false,
  version: "",
});

/** The URL a provider calls for webhook `id`. */
export function webhookUrl(info: Info, id: string): string {
  return `${info.webhookUrlPrefix ?? "/webhook/"}${encodeURIComponent(id)}`;
}
