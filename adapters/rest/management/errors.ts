// The management API's errors are the hub's own shape, also used by channels' settings APIs (a Twilio
// channel's numbers): defined once in src/http.
export { managementError, managementErrors, renderManagementError } from "../../../src/http/management-error";
