export * from "./container-spec";
export * from "./core-services";
export * from "./image-refs";
export * from "./images";
export * from "./network";
export * from "./provider";
export * from "./services";
export * from "./sidecars";
