import { Link } from "../router.js";
import { Empty, Page } from "../ui/kit.js";

export function NotFound() {
  return (
    <Page title="Page not found">
      <Empty title="There is no page at this address.">
        <Link href="/">Go to the workspace</Link>
      </Empty>
    </Page>
  );
}
