import { Link } from "../../router.js";

/** The tabs of the account area. */
export function AccountNav() {
  return (
    <nav class="subnav" aria-label="Account">
      <Link href="/account">Profile</Link>
      <Link href="/account/devices">Devices</Link>
      <Link href="/account/security">Security events</Link>
    </nav>
  );
}
