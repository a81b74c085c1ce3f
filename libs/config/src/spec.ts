/**
 * Declarative config fields. One spec per key gives the default, the validation and the env-var coercion, so
 * the three can never disagree; `Infer` turns a spec into its TypeScript type.
 */

export interface IntSpec {
  kind: "int";
  default: number;
  min?: number;
  max?: number;
}
export interface NumSpec {
  kind: "number";
  default: number;
  min?: number;
  max?: number;
}
export interface OptIntSpec {
  kind: "optInt";
  min?: number;
}
export interface BoolSpec {
  kind: "bool";
  default: boolean;
}
export interface StrSpec {
  kind: "string";
  default: string;
  /** Missing or empty is an error (for items of lists such as custom_logs[].url). */
  required?: boolean;
  oneOf?: readonly string[];
  /** Checked with `new URL()`. */
  url?: boolean;
}
export interface OptStrSpec {
  kind: "optString";
}
export interface StrsSpec {
  kind: "strings";
  default: string[];
}
export interface SectionSpec<F extends Fields = Fields> {
  kind: "section";
  fields: F;
}
export interface ListSpec<F extends Fields = Fields> {
  kind: "list";
  item: F;
}
export interface MapSpec<V extends Spec = Spec> {
  kind: "map";
  value: V;
}

export type Spec =
  | IntSpec
  | NumSpec
  | OptIntSpec
  | BoolSpec
  | StrSpec
  | OptStrSpec
  | StrsSpec
  | SectionSpec
  | ListSpec
  | MapSpec;
export type Fields = { readonly [key: string]: Spec };

export type Infer<S> = S extends IntSpec | NumSpec
  ? number
  : S extends OptIntSpec
    ? number | null
    : S extends BoolSpec
      ? boolean
      : S extends StrSpec
        ? string
        : S extends OptStrSpec
          ? string | null
          : S extends StrsSpec
            ? string[]
            : S extends SectionSpec<infer F>
              ? InferFields<F>
              : S extends ListSpec<infer F>
                ? InferFields<F>[]
                : S extends MapSpec<infer V>
                  ? Record<string, Infer<V>>
                  : never;
export type InferFields<F extends Fields> = { [K in keyof F]: Infer<F[K]> };

export const int = (def: number, o: { min?: number; max?: number } = {}): IntSpec => ({
  kind: "int",
  default: def,
  ...o,
});
export const num = (def: number, o: { min?: number; max?: number } = {}): NumSpec => ({
  kind: "number",
  default: def,
  ...o,
});
export const optInt = (o: { min?: number } = {}): OptIntSpec => ({ kind: "optInt", ...o });
export const bool = (def: boolean): BoolSpec => ({ kind: "bool", default: def });
export const str = (def: string, o: Omit<StrSpec, "kind" | "default"> = {}): StrSpec => ({
  kind: "string",
  default: def,
  ...o,
});
export const optStr = (): OptStrSpec => ({ kind: "optString" });
export const strs = (def: string[] = []): StrsSpec => ({ kind: "strings", default: def });
export const section = <F extends Fields>(fields: F): SectionSpec<F> => ({ kind: "section", fields });
export const list = <F extends Fields>(item: F): ListSpec<F> => ({ kind: "list", item });
export const map = <V extends Spec>(value: V): MapSpec<V> => ({ kind: "map", value });
