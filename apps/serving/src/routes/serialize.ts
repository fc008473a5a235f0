/**
 * Answers are built by typed code from the contracts' types, so checking each one against its zod
 * schema again on the way out (the zod type provider's serializer) buys nothing at run time, and
 * at a real size it took a tenth of serving's CPU. Routes that use this keep their response schema
 * for the OpenAPI document and leave serialisation to JSON.stringify.
 */
export const stringifyAnswer = () => (data: unknown) => JSON.stringify(data);
